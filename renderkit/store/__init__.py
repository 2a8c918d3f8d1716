"""Everything renderkit keeps on disk: the cache, the journal, the lock and the no-op memo."""
