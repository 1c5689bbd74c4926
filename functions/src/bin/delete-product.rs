#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cartwheel_functions::lambda::run_http(&cartwheel_functions::deployed::DELETE_PRODUCT).await
}
