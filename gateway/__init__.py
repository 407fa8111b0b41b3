"""The gateway: one front door (gRPC and HTTP/JSON) that authenticates, authorises, limits and forwards."""
