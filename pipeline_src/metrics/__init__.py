"""Metrics: pure array functions (features -> statistics -> distance); I/O lives in the stages."""
