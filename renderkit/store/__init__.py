"""Everything renderkit keeps on disk or in object storage."""
