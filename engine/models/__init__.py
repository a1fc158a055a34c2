"""LLM backends behind one small protocol (`engine.models.base.ChatModel`)."""
