"""target-parquet: Singer records to Parquet files on local disk or any fsspec URL (S3)."""
