"""The window's views. Each creates its plot items once and updates their data in `render`."""
