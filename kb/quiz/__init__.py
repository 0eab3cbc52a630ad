"""The question bank and scenario drills (content side). Taking quizzes and crediting hours
live in kb.records."""
