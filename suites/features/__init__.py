"""features.md and features-linux.md: the Features structure a runtime prints, and its claims put to the test."""
