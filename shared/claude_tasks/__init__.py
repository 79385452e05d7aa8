"""Claude Task Server: the domain package shared by every Lambda function."""
