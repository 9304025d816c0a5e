//! The command line on hermetic repositories, and the layers it stands on (the store, gates, the
//! security scanners, the planner, the workflows, the scripted model server, the forge's OpenAPI
//! description): one test binary, so the shared support and the library link once for all of them.
//!
//! Run one part with a filter: `scripts/test.sh --test cli cli_goal::`.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read the clock

#[path = "../support/mod.rs"]
mod support;

mod cli_bad_input;
mod cli_demo;
mod cli_doctor;
mod cli_git_conventions;
mod cli_goal;
mod forge_openapi;
mod gates;
mod maintenance;
mod model_server;
mod planner;
mod review;
mod store;
mod workflows;
