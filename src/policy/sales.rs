//! Sales and refunds sent again: when a repeat of an order or a reversal id
//! is the same call (answered as first answered) and when it conflicts, and
//! what a refund the sale cannot cover is told (API.md, SaleService). The
//! store reports what it found; these rules decide what it means.

use crate::error::Error;
use crate::model::{Money, OrderId, SaleRecord};
use crate::token::ClickId;

/// Whether an order id sent again repeats the sale first confirmed under
/// it: the same click and the same amount, currency included. A repeat is
/// answered with the first sale, even after the token expired; anything
/// else is `ORDER_CONFLICT`.
pub fn is_same_sale(first: &SaleRecord, click_id: &ClickId, amount: &Money) -> bool {
    first.click_id == *click_id && first.amount == *amount
}

/// Whether a reversal id sent again repeats the refund first recorded
/// under it: the same order and the same amount, currency included. A
/// repeat is answered with what remained after the first; anything else is
/// `ORDER_CONFLICT`.
pub fn is_same_reversal(
    first_order_id: &OrderId,
    first_amount: &Money,
    order_id: &OrderId,
    amount: &Money,
) -> bool {
    first_order_id == order_id && first_amount == amount
}

/// `REVERSAL_EXCEEDS_SALE` for a refund in another currency than its sale
/// (a refund is recorded in the sale's currency or not at all).
pub(crate) fn refund_in_another_currency(sale_currency: &str) -> Error {
    Error::ReversalExceedsSale(format!("the sale is in {sale_currency}"))
}

/// `REVERSAL_EXCEEDS_SALE` for a refund above what is `left` of its sale
/// (the sale less its earlier refunds: never refunded below zero).
pub(crate) fn refund_above_what_is_left(left: &Money) -> Error {
    Error::ReversalExceedsSale(format!(
        "{} {} is left of the sale",
        left.amount_minor, left.currency
    ))
}
