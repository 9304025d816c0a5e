//! Shared test support. Each test binary includes this with `mod support;`.

#![allow(dead_code)]

pub mod agents;
pub mod git_repo;
pub mod model_server;
