//! Review of an integrated change (DESIGN §6): the built-in security scanners now; reviewer and
//! security-reviewer agent sessions build on the same [`scanners::Finding`] shape.
//!
//! Owns turning a change into structured findings (severity, file, line, message). Must not decide
//! readiness (that is `model::proof`) nor write goals (that is `ops`).

pub mod changes;
pub mod scanners;
