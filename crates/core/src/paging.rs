//! Keyset paging for lists that can grow: a page costs the same whether it is the first
//! or the thousandth, because the next page starts after the last key seen instead of
//! skipping rows with `OFFSET`.

/// How many rows a page shows; always 1 to 200.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSize(u64);

impl PageSize {
    pub const DEFAULT: Self = Self(50);

    pub fn new(size: u64) -> Self {
        Self(size.clamp(1, 200))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// One more than the page shows: the extra row tells whether a next page exists.
    pub(crate) fn probe(self) -> u64 {
        self.0 + 1
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One page of `T` and, when there is more, the key after which the next page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T, K> {
    pub items: Vec<T>,
    pub next: Option<K>,
}

impl<T, K> Page<T, K> {
    /// Builds a page from rows fetched with `size.probe()` as the limit.
    pub(crate) fn from_probe(mut items: Vec<T>, size: PageSize, key: impl Fn(&T) -> K) -> Self {
        let limit = usize::try_from(size.get()).unwrap_or(usize::MAX);
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(key)
        } else {
            None
        };
        Self { items, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U, K> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_row_means_there_is_a_next_page() {
        let size = PageSize::new(2);
        let page = Page::from_probe(vec![1, 2, 3], size, |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next, Some(2));
        let last = Page::from_probe(vec![1, 2], size, |n| *n);
        assert_eq!(last.next, None);
        assert_eq!(PageSize::new(0).get(), 1);
        assert_eq!(PageSize::new(10_000).get(), 200);
    }
}
