//! Shared test support. Each test binary includes this with `mod support;` (`tests/cli` and `tests/flows` with
//! a `#[path]` to it).

#![allow(dead_code)]

pub mod agents;
pub mod emulator;
pub mod follow;
pub mod git_repo;
pub mod hostile;
pub mod http;
pub mod imported;
pub mod machines;
pub mod model_server;
pub mod omk;
pub mod openapi;
pub mod scenario;
pub mod tools;
