"""Tools that test acsa's test suite; not part of the package, not collected by pytest."""
