"""Jobs: network imports and registry what-ifs queued by web requests and executed by the worker processes."""
