//! An admin's change to a product's stock: one UpdateItem whose condition keeps every concurrent
//! reservation (see `StockChange`). A refusal returns the item as it is, which tells a missing
//! product from a moved version or a delta out of bounds without a second read.

use crate::{
    keys,
    products::from_item,
    transaction::{key, n, s},
    ChangeStock, Store, StoreError,
};
use aws_sdk_dynamodb::{
    operation::update_item::UpdateItemError,
    types::{ReturnValue, ReturnValuesOnConditionCheckFailure},
};
use cartwheel_domain::{Product, ProductId, StockChange, Timestamp};

impl ChangeStock for Store {
    #[tracing::instrument(skip_all, fields(productId = %id))]
    async fn change_stock(
        &self,
        id: ProductId,
        change: StockChange,
        now: Timestamp,
    ) -> Result<Product, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::product(id))))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", s(now.to_string()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let update = match change {
            StockChange::Set { quantity, version } => update
                .update_expression("SET stock = :stock, version = version + :one, updatedAt = :now")
                .condition_expression("version = :read")
                .expression_attribute_values(":stock", n(quantity.units()))
                .expression_attribute_values(":read", n(version)),
            StockChange::Adjust(delta) => {
                let allowed = delta.allowed_before();
                update
                    .update_expression(
                        "SET stock = stock + :delta, version = version + :one, updatedAt = :now",
                    )
                    .condition_expression("stock BETWEEN :low AND :high")
                    .expression_attribute_values(":delta", n(delta.units()))
                    .expression_attribute_values(":low", n(*allowed.start()))
                    .expression_attribute_values(":high", n(*allowed.end()))
            }
        };
        match update.send().await {
            Ok(output) => from_item(output.attributes.unwrap_or_default()),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    Err(refusal(failed.item.clone(), change)?)
                }
                _ => Err(error.into()),
            },
        }
    }
}

/// Why the condition failed, from the item as it was (`None`: there is no such product).
fn refusal(
    item: Option<crate::transaction::Item>,
    change: StockChange,
) -> Result<StoreError, StoreError> {
    let Some(item) = item else {
        return Ok(StoreError::NotFound);
    };
    Ok(match change {
        StockChange::Set { .. } => StoreError::VersionConflict,
        StockChange::Adjust(_) => StoreError::StockOutOfRange(from_item(item)?.stock.units()),
    })
}
