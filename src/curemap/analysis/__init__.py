"""Evidence synthesis: pooling outcome proportions across studies and drawing them."""
