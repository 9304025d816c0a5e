//! A conservative reader of POSIX shell command lines, for the agent policy.
//!
//! Owns splitting a command line into simple commands (words and redirections), with quotes, escapes,
//! operators (`;`, `&&`, `||`, `|`, `&`, newlines, subshells), comments, here-documents, and command
//! or process substitutions, whose inner commands are returned as commands of their own. It does not
//! expand anything: a word that depends on an expansion is marked `dynamic` and keeps its `$NAME` text.
//! Anything it cannot read with confidence is an error, and the policy refuses what it cannot read.
//! Pure.

/// Why a command line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// A quote is never closed.
    #[error("unclosed quote")]
    UnclosedQuote,
    /// A `$(`, backtick or `(` is never closed.
    #[error("unclosed command substitution or subshell")]
    UnclosedSubstitution,
    /// Substitutions nested too deep.
    #[error("command substitutions nested too deep")]
    TooDeep,
    /// The command line is too long to check.
    #[error("command line longer than {0} bytes")]
    TooLong(usize),
}

/// Longest command line that is read.
pub const MAX_SCRIPT_LEN: usize = 64 * 1024;
const MAX_DEPTH: usize = 8;

/// One word of a command, quotes removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The text, with `$NAME`, `${NAME}` and `~` kept as written.
    pub text: String,
    /// Whether the word depends on an expansion (`$…`, backticks, `$(…)`).
    pub dynamic: bool,
}

/// What a redirection does with its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectKind {
    /// `<`: reads the target.
    Input,
    /// `>`, `>>`, `&>`, `>|`, `<>`: writes the target.
    Output,
}

/// A redirection to or from a file (descriptor duplications like `2>&1` are not listed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// Read or write.
    pub kind: RedirectKind,
    /// The file.
    pub target: Word,
}

/// One simple command: its words (program first) and its file redirections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimpleCommand {
    /// Program and arguments.
    pub words: Vec<Word>,
    /// File redirections.
    pub redirects: Vec<Redirect>,
}

/// Split `script` into simple commands, including those inside substitutions and subshells.
pub fn parse(script: &str) -> Result<Vec<SimpleCommand>, ShellError> {
    if script.len() > MAX_SCRIPT_LEN {
        return Err(ShellError::TooLong(MAX_SCRIPT_LEN));
    }
    let chars: Vec<char> = script.chars().collect();
    let mut lexer = Lexer::new(&chars, 0);
    lexer.run()?;
    Ok(lexer.out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    Redirect(RedirectKind),
    /// The next word is not a file (a here-string, a descriptor).
    Skip,
    /// The next word is a here-document delimiter.
    HereDoc {
        strip_tabs: bool,
    },
}

struct Lexer<'a> {
    c: &'a [char],
    i: usize,
    depth: usize,
    out: Vec<SimpleCommand>,
    cur: SimpleCommand,
    word: Option<Word>,
    pending: Pending,
    heredocs: Vec<(String, bool)>,
}

impl<'a> Lexer<'a> {
    fn new(c: &'a [char], depth: usize) -> Lexer<'a> {
        Lexer {
            c,
            i: 0,
            depth,
            out: Vec::new(),
            cur: SimpleCommand::default(),
            word: None,
            pending: Pending::None,
            heredocs: Vec::new(),
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.c.get(self.i + ahead).copied()
    }

    fn run(&mut self) -> Result<(), ShellError> {
        while let Some(ch) = self.peek(0) {
            self.i += 1;
            match ch {
                ' ' | '\t' | '\r' => self.end_word(),
                '\n' => {
                    self.end_command();
                    self.skip_heredoc_bodies();
                }
                ';' | '|' | '(' | ')' => self.end_command(),
                '&' => self.ampersand(),
                '<' | '>' => self.redirect(ch)?,
                '#' if self.word.is_none() => self.skip_comment(),
                '\'' => self.single_quoted()?,
                '"' => self.double_quoted()?,
                '\\' => self.escaped(),
                '$' => self.dollar()?,
                '`' => self.backtick()?,
                _ => self.push_char(ch),
            }
        }
        self.end_command();
        Ok(())
    }

    fn word_mut(&mut self) -> &mut Word {
        self.word.get_or_insert_with(|| Word {
            text: String::new(),
            dynamic: false,
        })
    }

    fn push_char(&mut self, ch: char) {
        self.word_mut().text.push(ch);
    }

    fn end_word(&mut self) {
        let Some(word) = self.word.take() else {
            return;
        };
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => self.cur.words.push(word),
            Pending::Redirect(kind) => self.cur.redirects.push(Redirect { kind, target: word }),
            Pending::Skip => {}
            Pending::HereDoc { strip_tabs } => self.heredocs.push((word.text, strip_tabs)),
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        self.pending = Pending::None;
        let cmd = std::mem::take(&mut self.cur);
        if !cmd.words.is_empty() || !cmd.redirects.is_empty() {
            self.out.push(cmd);
        }
    }

    fn ampersand(&mut self) {
        if self.peek(0) == Some('>') {
            // `&>file` and `&>>file`: both streams to a file.
            self.end_word();
            self.i += 1;
            if self.peek(0) == Some('>') {
                self.i += 1;
            }
            self.pending = Pending::Redirect(RedirectKind::Output);
        } else {
            self.end_command();
        }
    }

    fn redirect(&mut self, ch: char) -> Result<(), ShellError> {
        if self
            .word
            .as_ref()
            .is_some_and(|w| !w.dynamic && w.text.chars().all(|c| c.is_ascii_digit()))
        {
            self.word = None; // a descriptor number like the 2 of `2>`
        }
        self.end_word();
        if self.peek(0) == Some('(') {
            // Process substitution `<(…)` / `>(…)`.
            self.i += 1;
            return self.substitution(')');
        }
        let kind = if ch == '<' {
            RedirectKind::Input
        } else {
            RedirectKind::Output
        };
        self.pending = Pending::Redirect(kind);
        match (ch, self.peek(0)) {
            ('<', Some('<')) => self.here(),
            ('<', Some('>')) | ('>', Some('>')) | ('>', Some('|')) => {
                self.i += 1;
                self.pending = Pending::Redirect(RedirectKind::Output);
            }
            (_, Some('&')) => self.duplication(),
            _ => {}
        }
        Ok(())
    }

    fn here(&mut self) {
        self.i += 1;
        if self.peek(0) == Some('<') {
            self.i += 1;
            self.pending = Pending::Skip; // here-string: data, not a file
        } else {
            let strip_tabs = self.peek(0) == Some('-');
            if strip_tabs {
                self.i += 1;
            }
            self.pending = Pending::HereDoc { strip_tabs };
        }
    }

    fn duplication(&mut self) {
        self.i += 1;
        let rest: String = self.c[self.i..]
            .iter()
            .take_while(|c| !c.is_whitespace() && !";|&<>()".contains(**c))
            .collect();
        if rest == "-" || (!rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit())) {
            self.i += rest.chars().count();
            self.pending = Pending::None;
        }
        // Otherwise `>&file`: the pending output redirection takes the next word.
    }

    fn skip_comment(&mut self) {
        while let Some(ch) = self.peek(0) {
            if ch == '\n' {
                break;
            }
            self.i += 1;
        }
    }

    fn skip_heredoc_bodies(&mut self) {
        for (delimiter, strip_tabs) in std::mem::take(&mut self.heredocs) {
            loop {
                let start = self.i;
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.i += 1;
                }
                let line: String = self.c[start..self.i].iter().collect();
                let at_end = self.peek(0).is_none();
                self.i += 1;
                let line = if strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    &line
                };
                if line == delimiter || at_end {
                    break;
                }
            }
        }
    }

    fn single_quoted(&mut self) -> Result<(), ShellError> {
        self.word_mut();
        loop {
            match self.peek(0) {
                None => return Err(ShellError::UnclosedQuote),
                Some('\'') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(ch) => {
                    self.i += 1;
                    self.push_char(ch);
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<(), ShellError> {
        self.word_mut();
        loop {
            let Some(ch) = self.peek(0) else {
                return Err(ShellError::UnclosedQuote);
            };
            self.i += 1;
            match ch {
                '"' => return Ok(()),
                '\\' => match self.peek(0) {
                    Some(next @ ('$' | '`' | '"' | '\\')) => {
                        self.i += 1;
                        self.push_char(next);
                    }
                    Some('\n') => self.i += 1,
                    _ => self.push_char('\\'),
                },
                '$' => self.dollar()?,
                '`' => self.backtick()?,
                _ => self.push_char(ch),
            }
        }
    }

    fn escaped(&mut self) {
        match self.peek(0) {
            Some('\n') => self.i += 1,
            Some(ch) => {
                self.i += 1;
                self.push_char(ch);
            }
            None => {}
        }
    }

    fn dollar(&mut self) -> Result<(), ShellError> {
        self.word_mut().dynamic = true;
        match self.peek(0) {
            Some('(') if self.peek(1) == Some('(') => {
                // Arithmetic `$((…))`: no commands inside worth reading, but it must close.
                self.i += 2;
                self.skip_until_close(')', 2)
            }
            Some('(') => {
                self.i += 1;
                self.substitution(')')
            }
            Some('{') => {
                let start = self.i - 1;
                self.skip_until_close('}', 0)?;
                let text: String = self.c[start..self.i].iter().collect();
                self.word_mut().text.push_str(&text);
                Ok(())
            }
            _ => {
                self.push_char('$');
                Ok(())
            }
        }
    }

    fn backtick(&mut self) -> Result<(), ShellError> {
        self.word_mut().dynamic = true;
        let start = self.i;
        while self.peek(0).is_some_and(|c| c != '`') {
            if self.peek(0) == Some('\\') {
                self.i += 1;
            }
            self.i += 1;
        }
        if self.peek(0).is_none() {
            return Err(ShellError::UnclosedSubstitution);
        }
        let inner = &self.c[start..self.i];
        self.i += 1;
        self.nested(inner)
    }

    /// Read a `$(…)`, `<(…)` or `>(…)` whose opening was consumed; its commands join the output.
    fn substitution(&mut self, close: char) -> Result<(), ShellError> {
        let start = self.i;
        self.skip_until_close(close, 1)?;
        let inner = &self.c[start..self.i - 1];
        self.word_mut().dynamic = true;
        self.nested(inner)
    }

    fn nested(&mut self, inner: &[char]) -> Result<(), ShellError> {
        if self.depth + 1 > MAX_DEPTH {
            return Err(ShellError::TooDeep);
        }
        let mut lexer = Lexer::new(inner, self.depth + 1);
        lexer.run()?;
        self.out.extend(lexer.out);
        Ok(())
    }

    /// Advance past the `close` that balances `open_count` already-open brackets, skipping quotes.
    fn skip_until_close(&mut self, close: char, open_count: usize) -> Result<(), ShellError> {
        let open = if close == ')' { '(' } else { '{' };
        let mut depth = open_count.max(1);
        let mut quote: Option<char> = None;
        if close == '}' {
            self.i += 1; // the `{`
        }
        while let Some(ch) = self.peek(0) {
            self.i += 1;
            match (quote, ch) {
                (Some(q), c) if c == q => quote = None,
                (Some('"'), '\\') => self.i += 1,
                (Some(_), _) => {}
                (None, '\\') => self.i += 1,
                (None, '\'' | '"') => quote = Some(ch),
                (None, c) if c == open => depth += 1,
                (None, c) if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        Err(ShellError::UnclosedSubstitution)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<Vec<String>> {
        parse(script)
            .unwrap()
            .into_iter()
            .map(|c| c.words.into_iter().map(|w| w.text).collect())
            .collect()
    }

    #[test]
    fn operators_split_commands() {
        assert_eq!(
            words("cd 'a b' && git push origin main; ls | wc -l & echo x || true"),
            vec![
                vec!["cd", "a b"],
                vec!["git", "push", "origin", "main"],
                vec!["ls"],
                vec!["wc", "-l"],
                vec!["echo", "x"],
                vec!["true"],
            ]
        );
        assert_eq!(
            words("(cd .. && ls)\nrm x # git push"),
            vec![vec!["cd", ".."], vec!["ls"], vec!["rm", "x"]]
        );
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            words(r#"echo "a \"b\" c" 'd\e' f\ g"#),
            vec![vec!["echo", "a \"b\" c", "d\\e", "f g"]]
        );
        assert_eq!(parse("echo 'oops"), Err(ShellError::UnclosedQuote));
        assert_eq!(parse("echo \"oops"), Err(ShellError::UnclosedQuote));
        assert_eq!(parse("echo $(oops"), Err(ShellError::UnclosedSubstitution));
    }

    #[test]
    fn substitutions_are_commands_too() {
        let cmds = parse("echo \"$(git push)\" `curl -T x host` $((1+2)) <(cat ~/.ssh/id_rsa)").unwrap();
        let names: Vec<&str> = cmds.iter().map(|c| c.words[0].text.as_str()).collect();
        assert_eq!(names, vec!["git", "curl", "cat", "echo"]);
        let echo = cmds.last().unwrap();
        assert!(echo.words[1].dynamic);
        let vars = parse("cat ${GH_TOKEN} $HOME/x").unwrap();
        assert_eq!(vars[0].words[1].text, "${GH_TOKEN}");
        assert_eq!(vars[0].words[2].text, "$HOME/x");
        assert!(vars[0].words[2].dynamic);
    }

    #[test]
    fn redirections() {
        let cmds = parse("echo hi > out.txt 2>&1 < in.txt &>> all.log 2>/dev/null >&2 cat <<< data").unwrap();
        let targets: Vec<(RedirectKind, &str)> = cmds[0]
            .redirects
            .iter()
            .map(|r| (r.kind, r.target.text.as_str()))
            .collect();
        assert_eq!(
            targets,
            vec![
                (RedirectKind::Output, "out.txt"),
                (RedirectKind::Input, "in.txt"),
                (RedirectKind::Output, "all.log"),
                (RedirectKind::Output, "/dev/null"),
            ]
        );
        assert_eq!(
            cmds[0].words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            vec!["echo", "hi", "cat"]
        );
    }

    #[test]
    fn here_documents_are_data() {
        let cmds = parse("cat <<'EOF' > notes.txt\ngit push don't\nEOF\nls").unwrap();
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0].redirects[0].target.text, "notes.txt");
        assert_eq!(cmds[1].words[0].text, "ls");
    }

    #[test]
    fn limits() {
        let deep = "$(".repeat(20) + &")".repeat(20);
        assert_eq!(parse(&deep), Err(ShellError::TooDeep));
        assert!(matches!(
            parse(&"a".repeat(MAX_SCRIPT_LEN + 1)),
            Err(ShellError::TooLong(_))
        ));
    }
}
