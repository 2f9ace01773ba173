"""Bulk imports (docs/EXCHANGE formats): one reader for CSV/xlsx, encodings and headers (`reader`), and one
module per format, each calling its feature's services."""
