"""The facts renderkit knows about providers: what each kind can do, and each model's limits and prices."""
