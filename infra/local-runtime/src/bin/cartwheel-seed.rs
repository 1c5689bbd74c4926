//! Seeds a table, offline or in AWS: `--admin` creates the admin from ADMIN_EMAIL/ADMIN_PASSWORD,
//! `--catalog` writes the demo catalog. TABLE_NAME names the table; AWS settings come from the
//! usual environment (profile, region, credentials).

use cartwheel_functions::{deps::Dependencies, Env};
use cartwheel_http::ErrorChain;
use cartwheel_local::seed;
use cartwheel_store::Store;
use std::{env, error::Error, process::ExitCode};

/// An error ends the process with its whole cause chain on stderr, not the error's Debug.
#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {}", ErrorChain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a != "--admin" && a != "--catalog") {
        return Err("usage: cartwheel-seed [--admin] [--catalog]".into());
    }
    let sdk = aws_config::load_from_env().await;
    let store = Store::build(&Env::from_process(), &sdk).await?;
    if args.iter().any(|a| a == "--catalog") {
        let report = seed::demo_catalog(&store).await?;
        println!(
            "demo catalog: {} created, {} already there",
            report.created, report.already_there
        );
    }
    if args.iter().any(|a| a == "--admin") {
        let admin = seed::admin_from_env()?.ok_or("set ADMIN_EMAIL and ADMIN_PASSWORD")?;
        let email = admin.email.clone();
        let created = seed::admin(&store, admin).await?;
        println!(
            "admin {email}: {}",
            if created { "created" } else { "already exists" }
        );
    }
    Ok(())
}
