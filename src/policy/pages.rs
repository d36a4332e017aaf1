//! Pages of a listing (API.md, "Listing"): how many items a page holds.

use crate::error::{Error, Result};

/// Items a page holds when the request asks for none (`page_size` 0).
pub(crate) const PAGE_SIZE_DEFAULT: usize = 50;
/// Items a page holds at most: a larger `page_size` means this.
pub(crate) const PAGE_SIZE_MAX: usize = 1000;

/// The items a page holds for a request's `page_size`: 0 means
/// [`PAGE_SIZE_DEFAULT`], above [`PAGE_SIZE_MAX`] means the maximum, and a
/// negative size is `INVALID_FIELD`.
pub(crate) fn page_size(field: &str, requested: i32) -> Result<usize> {
    match usize::try_from(requested) {
        Ok(0) => Ok(PAGE_SIZE_DEFAULT),
        Ok(size) => Ok(size.min(PAGE_SIZE_MAX)),
        Err(_) => Err(Error::invalid_field(field, "must not be negative")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_fifty_by_default_and_a_thousand_at_most() {
        assert_eq!(page_size("page_size", 0), Ok(50));
        assert_eq!(page_size("page_size", 7), Ok(7));
        assert_eq!(page_size("page_size", 1000), Ok(1000));
        assert_eq!(page_size("page_size", i32::MAX), Ok(1000));
        assert!(page_size("page_size", -1).is_err());
    }
}
