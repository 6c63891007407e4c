"""HTTP routers, one per resource. Function names become operationIds (see app.operation_id)."""
