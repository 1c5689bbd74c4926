use crate::{
    keys,
    products::from_item,
    transaction::{n, s, Item},
    ListCategories, ListProducts, Store, StoreError,
};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use cartwheel_domain::{Category, Product};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Inclusive bounds on the price in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PriceRange {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    pub category: Option<Category>,
    /// Lower-cased text that the name or description must contain.
    pub text: Option<String>,
    pub price: PriceRange,
    pub limit: u16,
    /// An opaque cursor from a previous page of the same category listing.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CategorySummary {
    pub name: String,
    pub product_count: i64,
}

/// A filtered page reads at most this many DynamoDB pages before it returns what it has, so that
/// a rare filter cannot make one request scan the whole catalog.
const MAX_PAGES_PER_REQUEST: usize = 10;
const FILTERED_PAGE_SIZE: i32 = 100;

/// Which index partition a listing walks: GSI1 for one category, GSI2 for the whole catalog.
struct Partition {
    index: &'static str,
    pk_attr: &'static str,
    sk_attr: &'static str,
    pk_value: String,
}

impl Partition {
    fn of(query: &ProductQuery) -> Self {
        match &query.category {
            Some(category) => Self {
                index: "GSI1",
                pk_attr: "GSI1PK",
                sk_attr: "GSI1SK",
                pk_value: keys::by_category(category),
            },
            None => Self {
                index: "GSI2",
                pk_attr: "GSI2PK",
                sk_attr: "GSI2SK",
                pk_value: keys::CATALOG_PK.into(),
            },
        }
    }

    fn key_attributes(&self) -> [&'static str; 4] {
        [keys::PK, keys::SK, self.pk_attr, self.sk_attr]
    }

    /// The cursor is the position's key, base64url-encoded JSON: opaque to clients, checked here.
    fn encode_cursor(&self, item: &Item) -> Option<String> {
        let key: BTreeMap<&str, &str> = self
            .key_attributes()
            .into_iter()
            .map(|name| Some((name, item.get(name)?.as_s().ok()?.as_str())))
            .collect::<Option<_>>()?;
        serde_json::to_vec(&key)
            .ok()
            .map(|json| URL_SAFE_NO_PAD.encode(json))
    }

    fn decode_cursor(&self, cursor: &str) -> Result<Item, StoreError> {
        let json = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| StoreError::InvalidCursor)?;
        let key: BTreeMap<String, String> =
            serde_json::from_slice(&json).map_err(|_| StoreError::InvalidCursor)?;
        let names = self.key_attributes();
        let well_formed = key.len() == names.len()
            && names.iter().all(|name| key.contains_key(*name))
            && key[self.pk_attr] == self.pk_value
            && key[keys::PK].starts_with("PRODUCT#")
            && key[keys::SK] == "PRODUCT";
        if !well_formed {
            return Err(StoreError::InvalidCursor);
        }
        Ok(key.into_iter().map(|(k, v)| (k, s(v))).collect())
    }
}

struct Filter {
    expression: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// The key condition's and the filter's expression names and values together.
fn filter(query: &ProductQuery, partition: &Partition) -> Filter {
    let mut clauses = Vec::new();
    let mut names = HashMap::from([("#pk".to_owned(), partition.pk_attr.to_owned())]);
    let mut values = HashMap::from([(":pk".to_owned(), s(partition.pk_value.clone()))]);
    if let Some(text) = &query.text {
        clauses.push("contains(searchText, :text)");
        values.insert(":text".to_owned(), s(text.clone()));
    }
    if query.price.min.is_some() || query.price.max.is_some() {
        names.insert("#price".to_owned(), "price".to_owned());
        names.insert("#amount".to_owned(), "amount".to_owned());
    }
    if let Some(min) = query.price.min {
        clauses.push("#price.#amount >= :min");
        values.insert(":min".to_owned(), n(min));
    }
    if let Some(max) = query.price.max {
        clauses.push("#price.#amount <= :max");
        values.insert(":max".to_owned(), n(max));
    }
    Filter {
        expression: (!clauses.is_empty()).then(|| clauses.join(" AND ")),
        names,
        values,
    }
}

impl ListProducts for Store {
    #[tracing::instrument(skip_all)]
    async fn list_products(&self, query: &ProductQuery) -> Result<ProductPage, StoreError> {
        let partition = Partition::of(query);
        let filter = filter(query, &partition);
        let limit = usize::from(query.limit);
        let page_size = if filter.expression.is_some() {
            FILTERED_PAGE_SIZE
        } else {
            i32::from(query.limit)
        };
        let mut start = query
            .cursor
            .as_deref()
            .map(|c| partition.decode_cursor(c))
            .transpose()?;
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES_PER_REQUEST {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(partition.index)
                .key_condition_expression("#pk = :pk")
                .set_filter_expression(filter.expression.clone())
                .set_expression_attribute_names(Some(filter.names.clone()))
                .set_expression_attribute_values(Some(filter.values.clone()))
                .set_exclusive_start_key(start.take())
                .limit(page_size)
                .send()
                .await?;
            let mut page = output.items.unwrap_or_default().into_iter();
            for item in page.by_ref() {
                items.push(item);
                if items.len() == limit {
                    break;
                }
            }
            let more_in_page = page.next().is_some();
            if items.len() == limit {
                let next_cursor = (more_in_page || output.last_evaluated_key.is_some())
                    .then(|| items.last().and_then(|last| partition.encode_cursor(last)))
                    .flatten();
                return page_of(items, next_cursor);
            }
            match output.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return page_of(items, None),
            }
        }
        let next_cursor = start.as_ref().and_then(|key| partition.encode_cursor(key));
        page_of(items, next_cursor)
    }
}

fn page_of(items: Vec<Item>, next_cursor: Option<String>) -> Result<ProductPage, StoreError> {
    Ok(ProductPage {
        items: items.into_iter().map(from_item).collect::<Result<_, _>>()?,
        next_cursor,
    })
}

impl ListCategories for Store {
    #[tracing::instrument(skip_all)]
    async fn list_categories(&self) -> Result<Vec<CategorySummary>, StoreError> {
        let items = self
            .query_all(|| {
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("PK = :pk")
                    .filter_expression("productCount > :zero")
                    .expression_attribute_values(":pk", s(keys::CATEGORIES_PK))
                    .expression_attribute_values(":zero", n(0))
            })
            .await?;
        items
            .iter()
            .map(|item| {
                let name = item
                    .get(keys::SK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                let count = item
                    .get("productCount")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|c| c.parse().ok());
                let count = count.ok_or_else(|| {
                    StoreError::corrupt(format!("CATEGORIES/{name}"), "no productCount")
                })?;
                Ok(CategorySummary {
                    name,
                    product_count: count,
                })
            })
            .collect()
    }
}
