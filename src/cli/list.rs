//! `goal list`: rows written as they are read, newest first, so memory stays bounded however many goals
//! exist and a closed pipe (`| head`) stops the reading.
//!
//! The output is the same as rendering the whole list at once: text rows from `text::list_row`, and the
//! JSON document of `json::document(&ListView { .. })`, written item by item.

use std::io::{self, Write};
use std::path::Path;

use chrono::{DateTime, Utc};

use super::args::ListArgs;
use super::error::CliError;
use super::json::{ListItem, OUTPUT_SCHEMA_VERSION};
use super::text;
use crate::ops::Context;
use crate::ops::query::{GoalRow, ListFilter};

/// Run `goal list` in `dir`.
pub fn list(dir: &Path, args: ListArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let filter = ListFilter {
        status: args.status,
        limit: args.limit,
        archived: args.all,
    };
    let stdout = io::stdout().lock();
    let mut out = Rows::new(
        io::BufWriter::with_capacity(64 * 1024, stdout),
        args.json,
        ctx.clock.now(),
    );
    let done = out
        .start()
        .map_err(CliError::from)
        .and_then(|()| ctx.list_each(filter, |row| out.row(&row).map_err(CliError::from)))
        .and_then(|_| out.finish().map_err(CliError::from));
    match done {
        Err(CliError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e),
        Ok(()) => Ok(0),
    }
}

/// The list written as it is read.
struct Rows<W: Write> {
    out: W,
    json: bool,
    now: DateTime<Utc>,
    written: usize,
}

impl<W: Write> Rows<W> {
    fn new(out: W, json: bool, now: DateTime<Utc>) -> Rows<W> {
        Rows {
            out,
            json,
            now,
            written: 0,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if self.json {
            write!(
                self.out,
                "{{\n  \"schema_version\": {OUTPUT_SCHEMA_VERSION},\n  \"goals\": ["
            )?;
        }
        Ok(())
    }

    fn row(&mut self, row: &GoalRow) -> io::Result<()> {
        if self.json {
            let item = serde_json::to_string_pretty(&ListItem::of(row)).map_err(io::Error::other)?;
            self.out
                .write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
            for (i, line) in item.lines().enumerate() {
                if i > 0 {
                    self.out.write_all(b"\n")?;
                }
                write!(self.out, "    {line}")?;
            }
        } else {
            self.out.write_all(text::list_row(row, self.now).as_bytes())?;
        }
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        match (self.json, self.written) {
            (true, 0) => self.out.write_all(b"]\n}\n")?,
            (true, _) => self.out.write_all(b"\n  ]\n}\n")?,
            (false, 0) => self.out.write_all(text::NO_GOALS.as_bytes())?,
            (false, _) => {}
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::json::{ListView, document};
    use crate::model::ids::GoalId;
    use crate::model::status::GoalStatus;
    use crate::ops::query::Relation;
    use crate::store::GoalRef;
    use crate::store::codec::CommitMessage;
    use crate::store::read::ListEntry;

    fn row(i: usize, remotes: Vec<(String, Relation)>) -> GoalRow {
        let id = GoalId::parse(&format!("20261205-0643{i:02}-3fa9c0{i:02}")).unwrap();
        GoalRow {
            entry: ListEntry {
                goal: GoalRef::Local(id.clone()),
                tip: gix::ObjectId::null(gix::hash::Kind::Sha1),
                message: CommitMessage {
                    status: Some(GoalStatus::Running),
                    title: format!("Fix \"quoted\"\ttitle {i}"),
                    schema: Some(1),
                    goal: Some(id.to_string()),
                    ..CommitMessage::default()
                },
                updated: DateTime::default(),
                problem: (i == 2).then(|| "broken".to_owned()),
            },
            remotes,
        }
    }

    fn streamed(rows: &[GoalRow], json: bool) -> String {
        let mut out = Rows::new(Vec::new(), json, DateTime::default());
        out.start().unwrap();
        for r in rows {
            out.row(r).unwrap();
        }
        out.finish().unwrap();
        String::from_utf8(out.out).unwrap()
    }

    #[test]
    fn streamed_output_is_the_whole_list_rendered_at_once() {
        let rows = [
            row(3, vec![("origin".into(), Relation::Ahead)]),
            row(2, Vec::new()),
            row(
                1,
                vec![("a".into(), Relation::Same), ("b".into(), Relation::Diverged)],
            ),
        ];
        for n in 0..=rows.len() {
            let rows = &rows[..n];
            let whole = document(&ListView {
                goals: rows.iter().map(ListItem::of).collect(),
            });
            assert_eq!(streamed(rows, true), whole, "{n} rows");
            assert_eq!(
                streamed(rows, false),
                text::list(rows, DateTime::default()),
                "{n} rows"
            );
        }
    }
}
