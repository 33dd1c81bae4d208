//! Reading the configuration at start: a redis.conf-style file (one `name value...` directive
//! per line, `#` comments, quoted arguments) followed by `--name value...` flags, which win.
//! Unknown directives are logged and skipped, so an existing redis.conf still starts Flint.

use std::fmt::Write as _;

use flint_engine::config::Config;

/// A directive the file or flags gave: name and its arguments joined by spaces.
type Directive = (String, String);

/// Applies the config file (if the first argument is one) and then the flags.
pub fn load(config: &Config, args: &[String]) -> Result<(), String> {
    let mut directives: Vec<Directive> = Vec::new();
    let mut rest = args;
    if let Some(first) = args.first() {
        if !first.starts_with("--") {
            let text = std::fs::read_to_string(first)
                .map_err(|e| format!("Fatal error, can't open config file '{first}': {e}"))?;
            directives.extend(parse_file(&text)?);
            config.set_file(std::path::Path::new(first));
            rest = &args[1..];
        }
    }
    directives.extend(parse_flags(rest)?);
    let mut unknown = String::new();
    for (name, value) in &directives {
        if config.get(name).is_none() {
            let _ = writeln!(unknown, "ignoring unknown directive '{name}'");
            continue;
        }
        config
            .set(name, value, true)
            .map_err(|e| format!(">>> '{name} {value}'\n{e}"))?;
    }
    if !unknown.is_empty() {
        eprint!("{unknown}");
    }
    Ok(())
}

/// Splits a config file into directives.
pub fn parse_file(text: &str) -> Result<Vec<Directive>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = split_words(line)
            .ok_or_else(|| format!("line {}: unbalanced quotes in configuration line", n + 1))?;
        let Some((name, args)) = words.split_first() else {
            continue;
        };
        out.push((name.to_ascii_lowercase(), args.join(" ")));
    }
    Ok(out)
}

/// `--port 7000 --save "" --bind a b` -> directives; a flag's value is every word up to the next
/// `--flag`.
pub fn parse_flags(args: &[String]) -> Result<Vec<Directive>, String> {
    let mut out: Vec<Directive> = Vec::new();
    for a in args {
        if let Some(name) = a.strip_prefix("--") {
            out.push((name.to_ascii_lowercase(), String::new()));
        } else if let Some((_, v)) = out.last_mut() {
            if !v.is_empty() {
                v.push(' ');
            }
            v.push_str(a);
        } else {
            return Err(format!("Invalid argument '{a}': options start with --"));
        }
    }
    Ok(out)
}

/// Splits a line into words, honouring double and single quotes.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else {
            return Some(words);
        };
        let mut w = String::new();
        if c == '"' || c == '\'' {
            chars.next();
            let mut closed = false;
            while let Some(x) = chars.next() {
                if x == c {
                    closed = true;
                    break;
                }
                if x == '\\' && c == '"' {
                    match chars.next() {
                        Some('n') => w.push('\n'),
                        Some('t') => w.push('\t'),
                        Some(o) => w.push(o),
                        None => return None,
                    }
                } else {
                    w.push(x);
                }
            }
            if !closed {
                return None;
            }
        } else {
            while let Some(&x) = chars.peek() {
                if x.is_whitespace() {
                    break;
                }
                w.push(x);
                chars.next();
            }
        }
        words.push(w);
    }
}

/// Starts logging at the configured level, to `logfile` or standard output.
pub fn init_logging(config: &Config) {
    let level = match config.get("loglevel").as_deref() {
        Some("debug") => tracing::Level::DEBUG,
        Some("verbose") => tracing::Level::DEBUG,
        Some("warning") => tracing::Level::WARN,
        Some("nothing") => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(false);
    match config.get("logfile").filter(|f| !f.is_empty()) {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(file) => builder.with_writer(std::sync::Mutex::new(file)).init(),
            Err(e) => {
                eprintln!("Can't open the log file {path}: {e}");
                builder.init();
            }
        },
        None => builder.init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_flags() {
        let d = parse_file("# c\nport 7000\nsave 900 1\nrequirepass \"a b\"\n").unwrap();
        assert_eq!(d[0], ("port".into(), "7000".into()));
        assert_eq!(d[1], ("save".into(), "900 1".into()));
        assert_eq!(d[2], ("requirepass".into(), "a b".into()));
        let f = parse_flags(&["--port".into(), "1".into(), "--save".into(), "".into()]).unwrap();
        assert_eq!(
            f,
            vec![("port".into(), "1".into()), ("save".into(), "".into())]
        );
        assert!(parse_flags(&["x".into()]).is_err());
    }
}
