//! The scripted bugfix scenario the tests share: the fixture's repository and goals, the briefs that pick each
//! task's prompt, the shell fixes, and the model's answers with fixed usage.

#![allow(dead_code)]

use super::model_server::{Route, Turn};

/// The fixture's repository for the `exec` agent flows: two independent bugs (`add` in calc.py, `upper`
/// in strings.py), each caught by a failing pytest test.
pub const TWO_BUGS: &[(&str, &str)] = &[
    ("calc.py", "def add(a, b):\n    return a - b\n"),
    ("strings.py", "def upper(s):\n    return s.lower()\n"),
    (
        "test_calc.py",
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    ),
    (
        "test_strings.py",
        "from strings import upper\n\n\ndef test_upper():\n    assert upper('a') == 'A'\n",
    ),
    ("pytest.ini", "[pytest]\n"),
];

/// A one-slice goal.
pub const ADD: &str = "Fix add in calc.py";
/// A two-slice goal.
pub const BOTH: &str = "Fix add in calc.py and fix upper in strings.py";
/// The brief of the task fixing `add` (its task line; the goal line would match both tasks).
pub const ADD_TASK: &str = "): Fix add in calc.py";
/// The brief of the task fixing `upper`.
pub const UPPER_TASK: &str = "): fix upper in strings.py";
/// What every reviewer prompt says.
pub const REVIEWER: &str = "reviewer for git-omk";
/// The shell command that fixes `add`, and shows the fixed line to the model.
pub const FIX_ADD: &str = "sed -i 's/return a - b/return a + b/' calc.py && grep -n 'return' calc.py";
/// The shell command that fixes `upper`.
pub const FIX_UPPER: &str =
    "sed -i 's/return s.lower()/return s.upper()/' strings.py && grep -n 'return' strings.py";

/// Small, fixed usage for scripted answers, so budgets are predictable.
pub fn small(turn: Turn) -> Turn {
    turn.usage(100, 10, 0)
}

/// The reviewer sessions find nothing.
pub fn reviewer_route() -> Route {
    Route::when(REVIEWER).reply(small(Turn::text(
        "I read the change; it does what the goal asks.\n```json\n{\"findings\": []}\n```",
    )))
}
