//! `scripts/explore`: runs seeded fault schedules through the checkout saga against DynamoDB
//! Local (see `cartwheel_local::explore`). Ends with `N schedules, M broken, seed S`; exits 1 when
//! an invariant broke, 2 when it could not start.

use cartwheel_http::ErrorChain;
use cartwheel_local::{explore, provision, states::asl};
use cartwheel_template::TemplateError;
use futures::StreamExt;
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

/// Why the explorer could not start (exit 2).
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("{}", path.display())]
    ReadAsl {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", path.display())]
    Asl {
        path: PathBuf,
        #[source]
        source: asl::AslError,
    },
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Provision(#[from] provision::ProvisionError),
    #[error("the template has no SalesAnalyticsRule")]
    NoRule,
    #[error(transparent)]
    Pipe(#[from] explore::pipe::PipeError),
}

struct Options {
    schedules: u64,
    minutes: f64,
    seed: u64,
    replay: Option<u64>,
    concurrency: usize,
    asl: String,
}

fn usage() -> ! {
    eprintln!("usage: cartwheel-explore [--schedules N] [--minutes M] [--seed S] [--replay SEED] [--concurrency C] [--asl FILE] | --table");
    std::process::exit(2)
}

fn options() -> Options {
    let fresh = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut options = Options {
        schedules: 500,
        minutes: 3.5,
        seed: fresh % 1_000_000_007,
        replay: None,
        concurrency: 16,
        asl: concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../statemachines/checkout.asl.json"
        )
        .into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--table" {
            print!("{}", explore::lifecycle_table());
            std::process::exit(0);
        }
        let value = args.next().unwrap_or_else(|| usage());
        let number = || value.parse::<u64>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--schedules" => options.schedules = number(),
            "--minutes" => options.minutes = value.parse().unwrap_or_else(|_| usage()),
            "--seed" => options.seed = number(),
            "--replay" => options.replay = Some(number()),
            "--concurrency" => options.concurrency = number().max(1) as usize,
            "--asl" => options.asl = value,
            _ => usage(),
        }
    }
    options
}

async fn explorer(path: &str) -> Result<explore::Explorer, SetupError> {
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path).map_err(|source| SetupError::ReadAsl {
        path: path.clone(),
        source,
    })?;
    let machine = asl::Machine::parse(&text).map_err(|source| SetupError::Asl { path, source })?;
    let sdk = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("explore-{}", ulid::Ulid::new()).to_lowercase();
    let template = cartwheel_template::Template::parse(cartwheel_template::EMBEDDED)?;
    let spec = template.table()?;
    provision::create_table(&client, &table, &spec).await?;
    let (_, stream_arn) = provision::table_arns(&client, &table).await?;
    let rule = template
        .rules()?
        .into_iter()
        .find(|rule| rule.logical_id == "SalesAnalyticsRule")
        .ok_or(SetupError::NoRule)?;
    let pipe = explore::pipe::Pipe::new(rule.pattern)?;
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let region = sdk.region().map_or("us-east-1".into(), |r| r.to_string());
    pipe.follow(cartwheel_local::stream::StreamReader::new(
        streams,
        &stream_arn,
        &region,
    ));
    Ok(explore::Explorer {
        store: cartwheel_store::Store::new(client, table),
        machine,
        breaker: explore::BREAKER,
        rates: explore::RATES,
        pipe,
    })
}

/// Schedule `i`'s seed: a function of the run's seed, so the run's seed replays the run.
fn seed_of(run: u64, i: u64) -> u64 {
    explore::rng::Rng::new(run ^ i.wrapping_mul(0xA24B_AED4_963E_E407)).next_u64()
}

#[tokio::main]
async fn main() {
    let options = options();
    let explorer = match explorer(&options.asl).await {
        Ok(explorer) => explorer,
        Err(error) => {
            eprintln!("cartwheel-explore: {}", ErrorChain(&error));
            std::process::exit(2);
        }
    };
    let seeds: Vec<u64> = match options.replay {
        Some(seed) => vec![seed],
        None => (0..options.schedules)
            .map(|i| seed_of(options.seed, i))
            .collect(),
    };
    let deadline = Instant::now() + Duration::from_secs_f64(options.minutes * 60.0);
    let started = Instant::now();
    let (mut ran, mut broken) = (0u64, 0u64);
    let mut runs = futures::stream::iter(seeds)
        .take_while(|_| futures::future::ready(Instant::now() < deadline))
        .map(|seed| explorer.run_schedule(seed))
        .buffer_unordered(options.concurrency);
    while let Some(outcome) = runs.next().await {
        ran += 1;
        if std::env::var_os("EXPLORE_VERBOSE").is_some() {
            outcome.log.iter().for_each(|l| eprintln!("  {l}"));
        }
        if !outcome.broken.is_empty() {
            broken += 1;
            eprintln!(
                "BROKEN schedule {} (replay: scripts/explore --replay {}):",
                outcome.seed, outcome.seed
            );
            outcome
                .broken
                .iter()
                .for_each(|b| eprintln!("  invariant: {b}"));
            outcome
                .log
                .iter()
                .take(300)
                .for_each(|l| eprintln!("  {l}"));
        }
        if ran % 100 == 0 {
            eprintln!(
                "explore: {ran} schedules, {broken} broken, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "{ran} schedules, {broken} broken, seed {}",
        options.replay.unwrap_or(options.seed)
    );
    std::process::exit(i32::from(broken > 0));
}
