"""IEPile / OneKE (zjunlp/IEPile): the schema-based instruction format for NER, RE and EE, in our own code.

    python -c "from core.iepile.spec import SPLIT_NUM; print(SPLIT_NUM)"

  spec      the instruction object, the answer keyed by schema item, parsing one answer, the scored units
  batches   schema files, hard-negative files, batches of split_num, schema order, negative sampling (--seed)
  records   inputs of every shape (IEPile samples, our ner / kg / ee records, CCKS2023) -> samples; and back
  convert   samples -> IEPile training records (one per schema batch) and test records (every batch, with label)
  predict   ask every batch, merge the answers of an input, score (core.tasks.iepile), our records for core.kg
The task `iepile` (core.tasks.iepile) parses one batch's answer and scores merged predictions per task and source.
The command line: InstructKGC/iepile_convert.py and InstructKGC/iepile_predict.py. Model templates: `oneke`
(OneKE's model card) and `llama2` (LLaMA2-Chat, as IEPile fine-tunes it), core/templates.
"""
