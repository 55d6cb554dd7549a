import BelayCore

/// Every store protocol, each implemented in its own file by area.
extension PostgresStore: BelayStore {}
