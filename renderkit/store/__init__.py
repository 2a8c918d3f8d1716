"""Everything renderkit keeps on disk or in object storage: the cache, the journal, the lock, the memo, the remote."""
