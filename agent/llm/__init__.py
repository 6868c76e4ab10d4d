"""Language-model backends behind one interface (agent.llm.base.ChatModel)."""
