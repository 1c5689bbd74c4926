//! An order with everything the saga recorded beside it, read in one Query of its partition.

use crate::{keys, records::Record, GetOrderDetails, Payment, Shipment, Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use cartwheel_domain::{Order, OrderId};
use serde::{de::DeserializeOwned, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDetails {
    #[serde(flatten)]
    pub order: Order,
    pub payment: Option<Payment>,
    pub shipment: Option<Shipment>,
}

fn decode<T: DeserializeOwned>(
    pk: &str,
    item: std::collections::HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    serde_dynamo::from_item::<_, Record<T>>(item)
        .map(|r| r.body)
        .map_err(|e| StoreError::corrupt(pk, e))
}

impl GetOrderDetails for Store {
    #[tracing::instrument(skip_all, fields(orderId = %id))]
    async fn get_order_details(&self, id: OrderId) -> Result<Option<OrderDetails>, StoreError> {
        let (pk, _) = keys::order(id);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .send()
            .await?;
        let (mut order, mut payment, mut shipment) = (None, None, None);
        for item in output.items.unwrap_or_default() {
            match item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some("ORDER") => order = Some(decode::<Order>(&pk, item)?),
                Some("PAYMENT") => payment = Some(decode::<Payment>(&pk, item)?),
                Some("SHIPMENT") => shipment = Some(decode::<Shipment>(&pk, item)?),
                _ => {}
            }
        }
        // Another attempt's id shares the order's partition but names no order of its own.
        Ok(order
            .filter(|o: &Order| o.id == id)
            .map(|order| OrderDetails {
                order,
                payment,
                shipment,
            }))
    }
}
