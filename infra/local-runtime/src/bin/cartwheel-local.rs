//! The offline stack's API: provisions what template.yaml declares, optionally seeds demo data,
//! and serves every route on 127.0.0.1 until Ctrl-C.

use cartwheel_functions::{App, Config};
use cartwheel_local::{
    aws_edge::{serve_edge, AwsEdge},
    provision, seed, serve, Gateway,
};
use cartwheel_template::Template;
use std::{env, error::Error, net::SocketAddr, path::Path, sync::Arc};
use tokio::net::TcpListener;

fn setting(name: &str, default: &str) -> String {
    env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Creates the state machines in moto, switches its engine on, and serves the AWS edge its Lambda
/// tasks call (on `CARTWHEEL_AWS_EDGE_PORT`, the port moto was told is its own).
async fn start_saga_engine(
    template: &Template,
    template_path: &Path,
    sdk: &aws_config::SdkConfig,
    app: &Arc<App>,
) -> Result<(), Box<dyn Error>> {
    let (Ok(moto_url), Ok(edge_port)) = (
        env::var("AWS_ENDPOINT_URL"),
        env::var("CARTWHEEL_AWS_EDGE_PORT"),
    ) else {
        println!("AWS_ENDPOINT_URL or CARTWHEEL_AWS_EDGE_PORT unset: no offline saga engine");
        return Ok(());
    };
    let listener = TcpListener::bind(format!("127.0.0.1:{edge_port}"))
        .await
        .map_err(|e| format!("cannot serve the AWS edge on 127.0.0.1:{edge_port}: {e}"))?;
    tokio::spawn(serve_edge(
        listener,
        Arc::new(AwsEdge::new(Arc::clone(app), moto_url.clone())),
    ));
    provision::enable_moto_execution(&moto_url).await?;
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let region = sdk
        .region()
        .map_or_else(|| "us-east-1".to_owned(), ToString::to_string);
    let base = template_path.parent().unwrap_or(Path::new("."));
    for machine in template.state_machines() {
        let file = base.join(&machine.definition_uri);
        let definition = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let arn = provision::create_state_machine(&sfn, &machine, &definition, &region).await?;
        println!("state machine {arn} runs in moto; its tasks call the handlers through 127.0.0.1:{edge_port}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    cartwheel_telemetry::init_logging();
    let seed_demo_data = env::args().any(|arg| arg == "--seed");
    let template_path = setting("CARTWHEEL_TEMPLATE", "template.yaml");
    let template_text = std::fs::read_to_string(&template_path)
        .map_err(|e| format!("cannot read {template_path}: {e}"))?;
    let template = Template::parse(&template_text)?;
    let config = Config::from_env()?;
    let sdk = aws_config::load_from_env().await;

    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    provision::create_table(&dynamodb, &config.table_name, &template.table()?).await?;
    let eventbridge = aws_sdk_eventbridge::Client::new(&sdk);
    for bus in template.buses() {
        provision::create_bus(&eventbridge, &bus).await?;
    }
    let app = Arc::new(App::new(&sdk, &config));
    start_saga_engine(&template, Path::new(&template_path), &sdk, &app).await?;

    if seed_demo_data {
        let report = seed::demo_catalog(&app.store).await?;
        println!(
            "seeded the demo catalog: {} products created, {} already there",
            report.created, report.already_there
        );
        match seed::admin_from_env()? {
            Some(admin) => {
                let email = admin.email.clone();
                let created = seed::admin(&app.store, admin).await?;
                println!(
                    "admin {email}: {}",
                    if created { "created" } else { "already exists" }
                );
            }
            None => println!("no ADMIN_EMAIL/ADMIN_PASSWORD set: no admin created"),
        }
    }

    let gateway = Arc::new(Gateway::new(&template, Arc::clone(&app))?);
    let address: SocketAddr = format!(
        "{}:{}",
        setting("CARTWHEEL_HOST", "127.0.0.1"),
        setting("CARTWHEEL_PORT", "3000")
    )
    .parse()?;
    let listener = TcpListener::bind(address).await.map_err(|e| {
        format!("cannot listen on {address}: {e} (is Cartwheel already running? set CARTWHEEL_PORT to use another port)")
    })?;
    println!(
        "Cartwheel API listening on http://{address} (table {})",
        config.table_name
    );
    tokio::select! {
        served = serve(listener, gateway) => served?,
        _ = tokio::signal::ctrl_c() => println!("stopping"),
    }
    Ok(())
}
