public enum PatternsPlaceholder {}
