FROM ubuntu
RUN apt-get update && apt-get install -y python3
USER root
ENTRYPOINT ["python3", "/worker.py"]
