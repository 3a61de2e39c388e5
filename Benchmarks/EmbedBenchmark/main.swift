print("embed benchmark: not built yet")
