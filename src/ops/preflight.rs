//! The controller's infrastructure checks (DESIGN §1, exit 6): which required gates of a run could not
//! run because a tool is missing (the decision is `model::preflight`'s), and whether the agent a role
//! needs can start. A failure found here stops the goal `failed` with the fix, before any attempt is
//! counted; `resume` continues once it is fixed.
//!
//! Reads gate reports and looks agent programs up; never starts an agent and never writes a goal (the
//! driver records the stop through the goal transaction).

use super::Context;
use super::drive::agent_launch;
use crate::agent::{AgentError, locate};
use crate::gate::GateReport;
use crate::gate::config::GateCommand;
use crate::model::options::{AgentSpec, Role, RunOptions};
use crate::model::preflight::{GateFacts, InfraStop, MissingTool, agent_stop, gate_stop, missing_in_gate};

/// The required gates of `report` that could not run for want of a tool, with the tool.
pub fn missing_tools(report: &GateReport) -> Vec<(String, MissingTool)> {
    report
        .results
        .iter()
        .filter(|r| r.evidence.definition.required)
        .filter_map(|r| {
            let evidence = &r.evidence;
            let program = first_word(&evidence.definition.command);
            let facts = GateFacts {
                gate: evidence.gate.as_str(),
                program: &program,
                reason: evidence.reason,
                output_tail: &evidence.output_tail,
            };
            missing_in_gate(&facts).map(|m| (evidence.gate.to_string(), m))
        })
        .collect()
}

/// The stop for the gates of `report` run on `what`, when a required one lacked its tool.
pub fn gate_blocker(what: &str, report: &GateReport) -> Option<InfraStop> {
    let found = missing_tools(report);
    (!found.is_empty()).then(|| gate_stop(what, &found))
}

/// The stop when the agent `spec` of `role` cannot be found (configured, else on `PATH`).
pub fn agent_blocker(ctx: &Context, role: Role, spec: &AgentSpec) -> Option<InfraStop> {
    let who = format!("the {} agent", role.as_str());
    locate(spec, &agent_launch(ctx))
        .err()
        .map(|e| agent_stop(&who, &e.to_string()))
}

/// The first agent of the goal's roles that cannot be found: who it is (`the agent` when it serves
/// every role the goal uses) and why. The planner's agent counts only when a planner agent is asked.
pub fn missing_agent(ctx: &Context, options: &RunOptions) -> Option<(String, AgentError)> {
    let launch = agent_launch(ctx);
    let used = |role: &Role| *role != Role::Planner || options.llm_planner;
    let every = Role::ALL.iter().filter(|r| used(r)).count();
    options.agents().into_iter().find_map(|(spec, roles)| {
        let roles: Vec<Role> = roles.into_iter().filter(used).collect();
        if roles.is_empty() {
            return None;
        }
        let error = locate(spec, &launch).err()?;
        let who = if roles.len() == every {
            "the agent".to_owned()
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            format!("the {} agent", names.join(" and "))
        };
        Some((who, error))
    })
}

/// The stop when an agent of the goal's roles cannot be found.
pub fn agents_blocker(ctx: &Context, options: &RunOptions) -> Option<InfraStop> {
    missing_agent(ctx, options).map(|(who, error)| agent_stop(&who, &error.to_string()))
}

/// The program a gate command starts: the first word of a shell script, or the program of an argv.
fn first_word(command: &GateCommand) -> String {
    match command {
        GateCommand::Shell(script) => script.split_whitespace().next().unwrap_or_default().to_owned(),
        GateCommand::Exec(argv) => argv.first().cloned().unwrap_or_default(),
    }
}
