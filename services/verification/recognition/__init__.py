"""Checking codes and recognising other provinces' codes: the trust list, agreements, red/yellow lists, DCCs."""
