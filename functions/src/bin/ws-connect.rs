#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cartwheel_functions::lambda::run(&cartwheel_functions::deployed::WS_CONNECT).await
}
