//! The catalog and the carts in memory.

use super::FakeStore;
use cartwheel_domain::{CartLine, Product, ProductId, Stock, StockChange, Timestamp, UserId};
use cartwheel_store::{
    CategorySummary, ChangeStock, CreateProduct, DeleteProduct, GetCart, GetProduct, GetProducts,
    ListCategories, ListProducts, ProductPage, ProductQuery, PutCartLine, RemoveCartLine,
    ReplaceProduct, StoreError,
};
use std::collections::BTreeMap;

impl FakeStore {
    /// `DuplicateSku` if a product other than `id` has `product`'s SKU.
    fn sku_free(&self, product: &Product) -> Result<(), StoreError> {
        let products = self.products.lock().unwrap();
        let taken = products
            .iter()
            .any(|p| p.sku == product.sku && p.id != product.id);
        match taken {
            true => Err(StoreError::DuplicateSku(product.sku.clone())),
            false => Ok(()),
        }
    }

    /// The stored product at `current`'s version, changed by `change`; `VersionConflict` if it
    /// moved on, as the conditional write refuses it.
    fn at_version(
        &self,
        current: &Product,
        change: impl FnOnce(&mut Vec<Product>, usize),
    ) -> Result<(), StoreError> {
        let mut products = self.products.lock().unwrap();
        let at = products
            .iter()
            .position(|p| p.id == current.id && p.version == current.version)
            .ok_or(StoreError::VersionConflict)?;
        change(&mut products, at);
        Ok(())
    }
}

impl GetProduct for FakeStore {
    async fn get_product(&self, id: ProductId) -> Result<Option<Product>, StoreError> {
        self.call("get_product")?;
        Ok(self.product(id))
    }
}

impl GetProducts for FakeStore {
    async fn get_products(&self, ids: &[ProductId]) -> Result<Vec<Product>, StoreError> {
        self.call("get_products")?;
        let products = self.products.lock().unwrap();
        let wanted = |p: &&Product| ids.contains(&p.id);
        Ok(products.iter().filter(wanted).cloned().collect())
    }
}

impl ListProducts for FakeStore {
    /// Every product of the category asked for; the query is kept for the test to read.
    async fn list_products(&self, query: &ProductQuery) -> Result<ProductPage, StoreError> {
        self.call("list_products")?;
        *self.product_query.lock().unwrap() = Some(query.clone());
        let products = self.products.lock().unwrap();
        let items = products
            .iter()
            .filter(|p| query.category.as_ref().is_none_or(|c| p.category == *c))
            .cloned()
            .collect();
        let next_cursor = None;
        Ok(ProductPage { items, next_cursor })
    }
}

impl ListCategories for FakeStore {
    async fn list_categories(&self) -> Result<Vec<CategorySummary>, StoreError> {
        self.call("list_categories")?;
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for product in self.products.lock().unwrap().iter() {
            *counts.entry(product.category.to_string()).or_default() += 1;
        }
        let summary = |(name, product_count)| CategorySummary {
            name,
            product_count,
        };
        Ok(counts.into_iter().map(summary).collect())
    }
}

impl CreateProduct for FakeStore {
    async fn create_product(&self, product: &Product) -> Result<(), StoreError> {
        self.call("create_product")?;
        self.sku_free(product)?;
        self.products.lock().unwrap().push(product.clone());
        Ok(())
    }
}

impl ReplaceProduct for FakeStore {
    /// Keeps the stored stock and ratings, as the store's update does.
    async fn replace_product(&self, current: &Product, next: &Product) -> Result<(), StoreError> {
        self.call("replace_product")?;
        self.sku_free(next)?;
        self.at_version(current, |products, at| {
            let stored = &products[at];
            products[at] = Product {
                stock: stored.stock,
                ratings: stored.ratings,
                ..next.clone()
            };
        })
    }
}

impl DeleteProduct for FakeStore {
    async fn delete_product(&self, current: &Product) -> Result<(), StoreError> {
        self.call("delete_product")?;
        self.at_version(current, |products, at| {
            products.remove(at);
        })
    }
}

impl ChangeStock for FakeStore {
    async fn change_stock(
        &self,
        id: ProductId,
        change: StockChange,
        now: Timestamp,
    ) -> Result<Product, StoreError> {
        self.call("change_stock")?;
        let mut products = self.products.lock().unwrap();
        let product = products
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or(StoreError::NotFound)?;
        let units = product.stock.units();
        product.stock = match change {
            StockChange::Set { version, .. } if version != product.version => {
                return Err(StoreError::VersionConflict)
            }
            StockChange::Set { quantity, .. } => quantity,
            StockChange::Adjust(delta) if !delta.allowed_before().contains(&units) => {
                return Err(StoreError::StockOutOfRange(units))
            }
            StockChange::Adjust(delta) => Stock::try_from(units + delta.units())
                .map_err(|_| StoreError::StockOutOfRange(units))?,
        };
        product.version += 1;
        product.updated_at = now;
        Ok(product.clone())
    }
}

impl GetCart for FakeStore {
    async fn cart_lines(&self, user: UserId) -> Result<Vec<CartLine>, StoreError> {
        self.call("cart_lines")?;
        Ok(self.cart(user))
    }
}

impl PutCartLine for FakeStore {
    async fn put_cart_line(&self, user: UserId, line: &CartLine) -> Result<(), StoreError> {
        self.call("put_cart_line")?;
        let mut carts = self.carts.lock().unwrap();
        let cart = carts.entry(user).or_default();
        cart.retain(|l| l.product_id != line.product_id);
        cart.push(line.clone());
        Ok(())
    }
}

impl RemoveCartLine for FakeStore {
    async fn remove_cart_line(&self, user: UserId, product: ProductId) -> Result<(), StoreError> {
        self.call("remove_cart_line")?;
        let mut carts = self.carts.lock().unwrap();
        if let Some(cart) = carts.get_mut(&user) {
            cart.retain(|l| l.product_id != product);
        }
        Ok(())
    }
}
