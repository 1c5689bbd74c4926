#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cartwheel_functions::lambda::run(&cartwheel_functions::deployed::ORDER_UPDATES).await
}
