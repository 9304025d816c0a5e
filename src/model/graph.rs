//! The task graph and its validation (DESIGN §5).
//!
//! Owns the invariants checked on every change: unique ids, known dependencies, no cycles, write sets
//! present and valid, and tasks whose write sets may overlap ordered by a dependency path. Also answers
//! graph questions the controller needs (topological order, reachability). Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ids::TaskId;
use super::task::{Task, TaskStatus};
use super::writeset::sets_may_overlap;

/// Why a task graph is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Two tasks share an id.
    #[error("task id `{0}` is used twice")]
    DuplicateId(TaskId),
    /// A dependency names no task.
    #[error("task `{task}` depends on unknown task `{missing}`")]
    UnknownDependency {
        /// The dependent.
        task: TaskId,
        /// The missing dependency.
        missing: TaskId,
    },
    /// Dependencies form a cycle.
    #[error("tasks depend on each other in a cycle: {}", cycle.iter().map(TaskId::as_str).collect::<Vec<_>>().join(" -> "))]
    Cycle {
        /// The cycle, first task repeated at the end.
        cycle: Vec<TaskId>,
    },
    /// A task may write nowhere.
    #[error("task `{0}` has an empty write set")]
    EmptyWriteSet(TaskId),
    /// Two tasks may write the same paths but neither waits for the other.
    #[error("tasks `{a}` and `{b}` may write the same files but neither depends on the other")]
    UnorderedConflict {
        /// First task.
        a: TaskId,
        /// Second task.
        b: TaskId,
    },
    /// A task has no title or acceptance criteria.
    #[error("task `{0}` needs a title and at least one acceptance criterion")]
    Incomplete(TaskId),
    /// Retry limit out of range.
    #[error("task `{0}` has a retry limit outside 1..=10")]
    RetryLimit(TaskId),
}

/// All tasks of a goal, in insertion order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskGraph {
    /// The tasks.
    pub tasks: Vec<Task>,
}

impl TaskGraph {
    /// Build and validate.
    pub fn new(tasks: Vec<Task>) -> Result<TaskGraph, GraphError> {
        let graph = TaskGraph { tasks };
        graph.validate()?;
        Ok(graph)
    }

    /// Look a task up.
    pub fn get(&self, id: &TaskId) -> Option<&Task> {
        self.tasks.iter().find(|t| &t.id == id)
    }

    /// Look a task up for change.
    pub fn get_mut(&mut self, id: &TaskId) -> Option<&mut Task> {
        self.tasks.iter_mut().find(|t| &t.id == id)
    }

    /// Count tasks per status.
    pub fn count(&self, status: TaskStatus) -> usize {
        self.tasks.iter().filter(|t| t.status == status).count()
    }

    /// Check every invariant.
    pub fn validate(&self) -> Result<(), GraphError> {
        let mut seen = BTreeSet::new();
        for task in &self.tasks {
            if !seen.insert(&task.id) {
                return Err(GraphError::DuplicateId(task.id.clone()));
            }
            validate_task(task)?;
        }
        for task in &self.tasks {
            if let Some(missing) = task.depends_on.iter().find(|d| !seen.contains(d)) {
                return Err(GraphError::UnknownDependency {
                    task: task.id.clone(),
                    missing: missing.clone(),
                });
            }
        }
        self.topological_order()?;
        self.check_conflicts_ordered()
    }

    /// Task ids in an order where every task comes after its dependencies (ties in insertion order).
    pub fn topological_order(&self) -> Result<Vec<TaskId>, GraphError> {
        let index: BTreeMap<&TaskId, usize> =
            self.tasks.iter().enumerate().map(|(i, t)| (&t.id, i)).collect();
        let mut state = vec![0u8; self.tasks.len()]; // 0 new, 1 on stack, 2 done
        let mut order = Vec::with_capacity(self.tasks.len());
        for start in 0..self.tasks.len() {
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            while let Some((node, next)) = stack.pop() {
                if next == 0 {
                    if state[node] == 2 {
                        continue;
                    }
                    state[node] = 1;
                }
                let deps = &self.tasks[node].depends_on;
                if next < deps.len() {
                    stack.push((node, next + 1));
                    let Some(&dep) = index.get(&deps[next]) else {
                        continue;
                    };
                    match state[dep] {
                        0 => stack.push((dep, 0)),
                        1 => return Err(self.cycle_error(&stack, dep)),
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    order.push(self.tasks[node].id.clone());
                }
            }
        }
        Ok(order)
    }

    fn cycle_error(&self, stack: &[(usize, usize)], back_to: usize) -> GraphError {
        let from = stack.iter().position(|(n, _)| *n == back_to).unwrap_or(0);
        let mut cycle: Vec<TaskId> = stack[from..]
            .iter()
            .map(|(n, _)| self.tasks[*n].id.clone())
            .collect();
        cycle.push(self.tasks[back_to].id.clone());
        GraphError::Cycle { cycle }
    }

    /// Whether `from` depends, directly or transitively, on `to`.
    pub fn depends_transitively(&self, from: &TaskId, to: &TaskId) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(id) = todo.pop() {
            let Some(task) = self.get(id) else { continue };
            for dep in &task.depends_on {
                if dep == to {
                    return true;
                }
                if seen.insert(dep) {
                    todo.push(dep);
                }
            }
        }
        false
    }

    fn check_conflicts_ordered(&self) -> Result<(), GraphError> {
        for (i, a) in self.tasks.iter().enumerate() {
            for b in &self.tasks[i + 1..] {
                let ordered =
                    self.depends_transitively(&a.id, &b.id) || self.depends_transitively(&b.id, &a.id);
                if !ordered && sets_may_overlap(&a.write_set, &b.write_set) {
                    return Err(GraphError::UnorderedConflict {
                        a: a.id.clone(),
                        b: b.id.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

fn validate_task(task: &Task) -> Result<(), GraphError> {
    if task.write_set.is_empty() {
        return Err(GraphError::EmptyWriteSet(task.id.clone()));
    }
    if task.title.trim().is_empty() || task.acceptance.is_empty() {
        return Err(GraphError::Incomplete(task.id.clone()));
    }
    if !(1..=10).contains(&task.retry_limit) {
        return Err(GraphError::RetryLimit(task.id.clone()));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::task::TaskKind;
    use crate::model::writeset::PathPattern;
    use proptest::prelude::*;

    pub(crate) fn task(id: &str, deps: &[&str], writes: &[&str]) -> Task {
        Task {
            id: TaskId::parse(id).unwrap(),
            title: format!("task {id}"),
            description: String::new(),
            kind: TaskKind::Implement,
            status: TaskStatus::Pending,
            depends_on: deps.iter().map(|d| TaskId::parse(d).unwrap()).collect(),
            read_set: vec![],
            write_set: writes.iter().map(|w| PathPattern::parse(w).unwrap()).collect(),
            acceptance: vec!["works".into()],
            gates: vec![],
            retry_limit: 3,
            attempts: vec![],
            branch: None,
            session_id: None,
            integrated: None,
            note: None,
            removes_tests: Vec::new(),
        }
    }

    #[test]
    fn rejects_each_invalid_shape() {
        let dup = TaskGraph::new(vec![task("a", &[], &["x"]), task("a", &[], &["y"])]);
        assert_eq!(dup, Err(GraphError::DuplicateId(TaskId::parse("a").unwrap())));
        let unknown = TaskGraph::new(vec![task("a", &["b"], &["x"])]);
        assert!(matches!(unknown, Err(GraphError::UnknownDependency { .. })));
        let cycle = TaskGraph::new(vec![
            task("a", &["c"], &["x"]),
            task("b", &["a"], &["y"]),
            task("c", &["b"], &["z"]),
        ]);
        match cycle {
            Err(GraphError::Cycle { cycle }) => assert_eq!(cycle.len(), 4, "{cycle:?}"),
            other => panic!("{other:?}"),
        }
        let selfdep = TaskGraph::new(vec![task("a", &["a"], &["x"])]);
        assert!(matches!(selfdep, Err(GraphError::Cycle { .. })));
        let conflict = TaskGraph::new(vec![task("a", &[], &["src/**"]), task("b", &[], &["src/x.rs"])]);
        assert!(matches!(conflict, Err(GraphError::UnorderedConflict { .. })));
        assert!(
            TaskGraph::new(vec![
                task("a", &[], &["src/**"]),
                task("b", &["a"], &["src/x.rs"])
            ])
            .is_ok()
        );
        assert!(matches!(
            TaskGraph::new(vec![task("a", &[], &[])]),
            Err(GraphError::EmptyWriteSet(_))
        ));
    }

    fn arb_dag() -> impl Strategy<Value = Vec<(usize, Vec<usize>)>> {
        (1usize..12).prop_flat_map(|n| {
            proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..4), n)
                .prop_map(move |deps| {
                    deps.into_iter()
                        .enumerate()
                        .map(|(i, ds)| {
                            let mut d: Vec<usize> = if i == 0 {
                                vec![]
                            } else {
                                ds.iter().map(|x| x.index(i)).collect()
                            };
                            d.sort();
                            d.dedup();
                            (i, d)
                        })
                        .collect()
                })
        })
    }

    fn build(shape: &[(usize, Vec<usize>)]) -> Vec<Task> {
        shape
            .iter()
            .map(|(i, deps)| {
                let deps: Vec<String> = deps.iter().map(|d| format!("t{d}")).collect();
                let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                task(&format!("t{i}"), &deps, &[&format!("f{i}.rs")])
            })
            .collect()
    }

    proptest! {
        #[test]
        fn dags_validate_and_sort_topologically(shape in arb_dag()) {
            let graph = TaskGraph::new(build(&shape)).unwrap();
            let order = graph.topological_order().unwrap();
            prop_assert_eq!(order.len(), shape.len());
            let pos = |id: &TaskId| order.iter().position(|x| x == id).unwrap();
            for t in &graph.tasks {
                for d in &t.depends_on {
                    prop_assert!(pos(d) < pos(&t.id));
                }
            }
        }

        #[test]
        fn any_back_edge_is_a_cycle(shape in arb_dag(), pick in any::<prop::sample::Index>()) {
            let mut tasks = build(&shape);
            let edges: Vec<(usize, usize)> = shape.iter().flat_map(|(i, ds)| ds.iter().map(move |d| (*i, *d))).collect();
            prop_assume!(!edges.is_empty());
            let (from, to) = edges[pick.index(edges.len())];
            tasks[to].depends_on.push(TaskId::parse(&format!("t{from}")).unwrap());
            let is_cycle = matches!(TaskGraph::new(tasks), Err(GraphError::Cycle { .. }));
            prop_assert!(is_cycle);
        }

        #[test]
        fn overlapping_writers_must_be_ordered(shape in arb_dag(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            let mut tasks = build(&shape);
            let (a, b) = (a.index(tasks.len()), b.index(tasks.len()));
            prop_assume!(a != b);
            let shared = tasks[a].write_set[0].clone();
            tasks[b].write_set.push(shared);
            let graph = TaskGraph { tasks };
            let ordered = graph.depends_transitively(&graph.tasks[a].id, &graph.tasks[b].id)
                || graph.depends_transitively(&graph.tasks[b].id, &graph.tasks[a].id);
            prop_assert_eq!(graph.validate().is_ok(), ordered);
        }
    }
}
