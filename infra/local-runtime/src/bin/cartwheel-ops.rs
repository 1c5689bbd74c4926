//! Operations on a running stack, offline or in AWS (see `cartwheel_local::ops`):
//!   cartwheel-ops redrive <dead-letter queue name or URL> [--to <queue name or URL>]
//!   cartwheel-ops replay --from <RFC 3339> --to <RFC 3339> [--rule <name or ARN>]...
//!                        [--stack <name>] [--bus <name>] [--archive <name>]
//! The bus defaults to `<stack>-events`, as template.yaml names it, and the stack to TABLE_NAME or
//! `cartwheel-local` (scripts/start's); the archive to the bus's only one. AWS settings come from
//! the usual environment (AWS_ENDPOINT_URL offline; profile, region, credentials in AWS).

use cartwheel_local::ops::{self, Replay, Window};
use std::{env, error::Error, process::ExitCode};

const USAGE: &str = "usage:
  cartwheel-ops redrive <dead-letter queue name or URL> [--to <queue name or URL>]
  cartwheel-ops replay --from <RFC 3339> --to <RFC 3339> [--rule <name or ARN>]... [--stack <name>] [--bus <name>] [--archive <name>]";

/// A command line this tool does not take.
#[derive(Debug, thiserror::Error)]
enum ArgsError {
    #[error("unknown option --{0}")]
    Unknown(String),
    #[error("--{0} needs a value")]
    NoValue(String),
    #[error("--{0} is given more than once")]
    Repeated(String),
}

/// Positional arguments and `--flag value` pairs, in order.
struct Args {
    positional: Vec<String>,
    flags: Vec<(String, String)>,
}

impl Args {
    fn parse(args: impl Iterator<Item = String>, known: &[&str]) -> Result<Self, ArgsError> {
        let (mut positional, mut flags) = (Vec::new(), Vec::new());
        let mut args = args;
        while let Some(arg) = args.next() {
            if let Some(flag) = arg.strip_prefix("--") {
                if !known.contains(&flag) {
                    return Err(ArgsError::Unknown(flag.to_owned()));
                }
                let value = args
                    .next()
                    .ok_or_else(|| ArgsError::NoValue(flag.to_owned()))?;
                flags.push((flag.to_owned(), value));
            } else {
                positional.push(arg);
            }
        }
        Ok(Self { positional, flags })
    }

    fn all(&self, flag: &str) -> Vec<String> {
        self.flags
            .iter()
            .filter(|(f, _)| f == flag)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The flag's value; given twice is a mistake.
    fn one(&self, flag: &str) -> Result<Option<String>, ArgsError> {
        let mut values = self.all(flag);
        match values.len() {
            0 | 1 => Ok(values.pop()),
            _ => Err(ArgsError::Repeated(flag.to_owned())),
        }
    }
}

async fn redrive(args: Args) -> Result<(), Box<dyn Error>> {
    let to = args.one("to")?;
    let [dlq] = <[String; 1]>::try_from(args.positional).map_err(|_| USAGE)?;
    let sqs = aws_sdk_sqs::Client::new(&aws_config::load_from_env().await);
    let moved = ops::redrive(&sqs, &dlq, to.as_deref(), |batch, total| {
        println!("moved {batch} message(s), {total} so far");
    })
    .await?;
    println!("{} message(s) moved to {}", moved.moved, moved.source);
    Ok(())
}

async fn replay(args: Args) -> Result<(), Box<dyn Error>> {
    if !args.positional.is_empty() {
        return Err(USAGE.into());
    }
    let (from, to) = match (args.one("from")?, args.one("to")?) {
        (Some(from), Some(to)) => (from, to),
        _ => return Err(format!("--from and --to are required\n{USAGE}").into()),
    };
    let stack = match args.one("stack")? {
        Some(stack) => stack,
        None => env::var("TABLE_NAME").unwrap_or_else(|_| "cartwheel-local".to_owned()),
    };
    let request = Replay {
        bus: args.one("bus")?.unwrap_or(format!("{stack}-events")),
        archive: args.one("archive")?,
        window: Window::parse(&from, &to)?,
        rules: args.all("rule"),
    };
    println!(
        "replaying the archive of {} from {from} to {to}{}",
        request.bus,
        if request.rules.is_empty() {
            String::new()
        } else {
            format!(" to {}", request.rules.join(", "))
        }
    );
    let events = aws_sdk_eventbridge::Client::new(&aws_config::load_from_env().await);
    let replayed = ops::replay(&events, &request).await?;
    println!(
        "replay {} of {}: {}",
        replayed.name, replayed.archive, replayed.state
    );
    Ok(())
}

async fn run() -> Result<(), Box<dyn Error>> {
    let mut args = env::args().skip(1);
    let command = args.next().unwrap_or_default();
    match command.as_str() {
        "redrive" => redrive(Args::parse(args, &["to"])?).await,
        "replay" => {
            let known = ["from", "to", "rule", "stack", "bus", "archive"];
            replay(Args::parse(args, &known)?).await
        }
        _ => Err(USAGE.into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The whole chain: an SDK error's own message is only its kind. A cause that says
            // what its error already said (some wrap their cause and repeat it) is said once.
            let mut message = error.to_string();
            let mut cause = error.source();
            while let Some(source) = cause {
                let text = source.to_string();
                if !message.ends_with(&text) {
                    message.push_str(&format!(": {text}"));
                }
                cause = source.source();
            }
            eprintln!("cartwheel-ops: {message}");
            ExitCode::FAILURE
        }
    }
}
