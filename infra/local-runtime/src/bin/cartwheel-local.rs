//! The offline stack's API: provisions what template.yaml declares, optionally seeds demo data,
//! and serves every route on 127.0.0.1 until Ctrl-C.

use cartwheel_functions::{deps::Dependencies, Env};
use cartwheel_http::ErrorChain;
use cartwheel_local::{
    aws_edge::{serve_edge, AwsEdge},
    docs::Docs,
    metrics,
    response_log::ResponseLog,
    seed, serve,
    stack::{EventSourceSettings, OfflineStack, StackSettings},
    websocket::WebSocketApi,
    Gateway,
};
use cartwheel_store::Store;
use cartwheel_template::Template;
use std::io::IsTerminal;
use std::{env, error::Error, net::SocketAddr, path::Path, process::ExitCode, sync::Arc};
use tokio::net::TcpListener;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn setting(name: &str, default: &str) -> String {
    env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Serves the AWS edge moto's Lambda tasks call (on `CARTWHEEL_AWS_EDGE_PORT`, the port moto was
/// told is its own) and starts the stack behind it.
async fn start_stack(
    template: &Template,
    template_path: &Path,
    sdk: &aws_config::SdkConfig,
    name: String,
) -> Result<OfflineStack, Box<dyn Error>> {
    let (Ok(moto_url), Ok(edge_port)) = (
        env::var("AWS_ENDPOINT_URL"),
        env::var("CARTWHEEL_AWS_EDGE_PORT"),
    ) else {
        return Err("AWS_ENDPOINT_URL (moto) and CARTWHEEL_AWS_EDGE_PORT must be set; scripts/start sets them".into());
    };
    // The edge is where functions reach moto: `sam local`'s containers too, on Linux through
    // the Docker host's gateway address, which a listener on 127.0.0.1 never answers.
    let edge_address = format!("{}:{edge_port}", setting("CARTWHEEL_HOST", "127.0.0.1"));
    let listener = TcpListener::bind(&edge_address)
        .await
        .map_err(|e| format!("cannot serve the AWS edge on {edge_address}: {e}"))?;
    let edge = Arc::new(AwsEdge::new(moto_url.clone()));
    tokio::spawn(serve_edge(listener, Arc::clone(&edge)));
    let settings = StackSettings {
        name,
        parameters: cartwheel_local::parameters::offline(|name| env::var(name).ok()),
        template_dir: template_path.parent().unwrap_or(Path::new(".")).to_owned(),
        moto_url,
        // scripts/bench-paths measures a write path against the same writes made raw: with the
        // stream, queues and schedules off, neither run pays for sagas the other does not start.
        event_sources: EventSourceSettings {
            enabled: setting("CARTWHEEL_EVENT_SOURCES", "on") != "off",
            schedule_every: None,
            play_pipes: true,
        },
    };
    let stack = OfflineStack::start(template, sdk, &edge, settings).await?;
    for (machine, arn) in &stack.state_machines {
        let engine = match env::var("AWS_ENDPOINT_URL_SFN") {
            Ok(_) => "the local runtime's engine",
            Err(_) => "moto",
        };
        println!("{machine}: {arn} runs in {engine}; its tasks reach the handlers through 127.0.0.1:{edge_port}");
    }
    println!(
        "queues, rules and the bus {} are in moto; the order hand-off and event publisher follow the table's stream",
        stack.bus.as_deref().unwrap_or("(none)")
    );
    Ok(stack)
}

/// At least two workers, even when the runtime has one CPU (`split_cpus` in scripts/lib/offline.sh
/// gives it one of two): with a single worker, any task that runs long (a cold start, a burst's
/// step handlers) would hold up every request behind it, which Lambda's separate execution
/// environments never do.
/// An error ends the process with its whole cause chain on stderr (`Error: could not create
/// queue ...: dispatch failure: ...`), not the error's Debug.
fn main() -> ExitCode {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let ran = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(Box::from)
        .and_then(|runtime| runtime.block_on(run()));
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {}", ErrorChain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    cartwheel_telemetry::init_logging();
    let seed_demo_data = env::args().any(|arg| arg == "--seed");
    let template_path = setting("CARTWHEEL_TEMPLATE", "template.yaml");
    let template_text = std::fs::read_to_string(&template_path)
        .map_err(|e| format!("cannot read {template_path}: {e}"))?;
    let template = Template::parse(&template_text)?;
    let sdk = aws_config::load_from_env().await;
    // The functions' EMF metrics go to moto's CloudWatch, not to this terminal.
    if let Some(collect) = metrics::collect_into(aws_sdk_cloudwatch::Client::new(&sdk)) {
        tokio::spawn(collect);
    }
    // The operator's own access, for seeding; the functions get only their roles' access.
    let store = Store::build(&Env::from_process(), &sdk).await?;
    let name = store.table_name().to_owned();

    let stack = start_stack(&template, Path::new(&template_path), &sdk, name).await?;

    if seed_demo_data {
        let report = seed::demo_catalog(&store).await?;
        println!(
            "seeded the demo catalog: {} products created, {} already there",
            report.created, report.already_there
        );
        match seed::admin_from_env()? {
            Some(admin) => {
                let email = admin.email.clone();
                let created = seed::admin(&store, admin).await?;
                println!(
                    "admin {email}: {}",
                    if created { "created" } else { "already exists" }
                );
            }
            None => println!("no ADMIN_EMAIL/ADMIN_PASSWORD set: no admin created"),
        }
    }

    let root = Path::new(&template_path).parent().unwrap_or(Path::new("."));
    let address: SocketAddr = format!(
        "{}:{}",
        setting("CARTWHEEL_HOST", "127.0.0.1"),
        setting("CARTWHEEL_PORT", "3000")
    )
    .parse()?;
    let docs = Docs::load(
        &root.join("api/openapi.yaml"),
        &root.join("infra/offline/node_modules/swagger-ui-dist"),
        &format!("http://{address}"),
    )?;
    let mut gateway = Gateway::new(&template, Arc::clone(&stack.functions))?.with_docs(docs);
    // scripts/fuzz counts (and checks against the contract) every answer the fuzzer received.
    if let Ok(path) = env::var("CARTWHEEL_RESPONSE_LOG") {
        gateway = gateway.with_response_log(ResponseLog::open(Path::new(&path))?);
    }
    // A person at a terminal reads the access log; a benchmark's log file would only pay for it
    // (a locked, unbuffered write per request: 2-3 % of the runtime's CPU at 2,000 requests/s).
    if std::io::stdout().is_terminal() {
        gateway = gateway.with_access_log();
    }
    let gateway = Arc::new(gateway);
    let listener = TcpListener::bind(address).await.map_err(|e| {
        format!("cannot listen on {address}: {e} (is Cartwheel already running? set CARTWHEEL_PORT to use another port)")
    })?;
    println!(
        "Cartwheel API listening on http://{address} (table {}; the contract at http://{address}/docs)",
        stack.name
    );
    if let Some(api) = WebSocketApi::from_template(&template, Arc::clone(&stack.functions))? {
        let ws_address: SocketAddr = format!(
            "{}:{}",
            setting("CARTWHEEL_HOST", "127.0.0.1"),
            setting("CARTWHEEL_WS_PORT", "3001")
        )
        .parse()?;
        let ws_listener = TcpListener::bind(ws_address).await.map_err(|e| {
            format!(
                "cannot listen on {ws_address}: {e} (set CARTWHEEL_WS_PORT to use another port)"
            )
        })?;
        println!("Order status over WebSocket on ws://{ws_address}/?token=<access token>");
        tokio::spawn(api.serve(ws_listener));
    }
    tokio::select! {
        served = serve(listener, gateway) => served?,
        _ = tokio::signal::ctrl_c() => println!("stopping"),
    }
    Ok(())
}
