public enum InspectionPlaceholder {}
