#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cartwheel_functions::lambda::run("SweepPendingOrdersFunction").await
}
