"""Operations, one module per area. Transport-agnostic: nothing here imports mcp.

A service takes an OrgContext (organisation, token, and the call's transaction) and
pydantic input, returns pydantic output, and raises market_mcp.errors.
"""
