public enum SemanticCachePlaceholder {}
