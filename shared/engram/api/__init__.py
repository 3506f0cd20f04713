"""HTTP plumbing shared by every function: the resolver factory, error mapping, auth context."""
