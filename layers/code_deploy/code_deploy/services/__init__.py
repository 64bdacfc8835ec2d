"""Services: the applications the system deploys, each with its own builds, its own goal in each of its
regions, its own hosts and a default deployment policy (model); the services table (store)."""
